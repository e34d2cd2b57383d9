//! The index's folder on disk, written without waiting for the disk.
//!
//! tantivy makes every commit durable: each new file and the index's metadata are
//! flushed to the disk (`fsync`) before the commit returns, about a dozen flushes per
//! commit. A partner's update waits for a commit to be searchable, so those flushes
//! were most of a write's time. The index is derived from the database, though: it
//! records the last change it holds, and anything it lost is applied again from the
//! database's change log. So this folder leaves flushing to the operating system, and
//! [`Clean`] marks whether the process stopped properly: after a crash of the process
//! nothing is lost (the operating system still has the files); after a crash of the
//! machine, a file may be incomplete, so the index's checksums are verified before it is
//! used again, and a damaged index is rebuilt.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// A folder of index files written without flushing to disk.
#[derive(Clone, Debug)]
pub struct Unflushed {
    files: MmapDirectory,
    root: PathBuf,
}

impl Unflushed {
    pub fn open(root: &Path) -> tantivy::Result<Self> {
        Ok(Self {
            files: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
        })
    }
}

/// A new file's writer that leaves flushing to the operating system.
struct UnflushedFile(File);

impl Write for UnflushedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl TerminatingWrite for UnflushedFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.0.flush()
    }
}

impl Directory for Unflushed {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> Result<std::sync::Arc<dyn FileHandle>, OpenReadError> {
        self.files.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.files.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.files.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => OpenWriteError::FileAlreadyExists(path.into()),
                _ => OpenWriteError::wrap_io_error(e, path.into()),
            })?;
        Ok(BufWriter::new(Box::new(UnflushedFile(file))))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.files.atomic_read(path)
    }

    /// Written whole under another name, then renamed over the old file: a reader sees
    /// the old content or the new, never part of either.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let target = self.root.join(path);
        let mut temp = tempfile::NamedTempFile::new_in(&self.root)?;
        temp.write_all(data)?;
        temp.persist(&target).map_err(|e| e.error)?;
        Ok(())
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.files.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.files.watch(callback)
    }
}

/// The mark of a properly stopped index: present in an index folder only while no
/// process has it open, or after the process that had it stopped properly.
pub struct Clean;

impl Clean {
    const FILE: &str = "CLEAN";

    /// Whether the index in `dir` was left by a process that stopped properly; the mark
    /// is taken away, since a process now has the index open.
    pub fn take(dir: &Path) -> bool {
        std::fs::remove_file(dir.join(Self::FILE)).is_ok()
    }

    /// Marks the index in `dir` as properly stopped, its files flushed to disk first.
    pub fn leave(dir: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                File::open(&path)?.sync_all()?;
            }
        }
        File::create(dir.join(Self::FILE))?.sync_all()?;
        File::open(dir)?.sync_all()
    }
}
