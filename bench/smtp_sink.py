"""A mail server for benchmarks: accepts every message on loopback and counts them.

Usage: python3 bench/smtp_sink.py PORT   (prints the count when stopped)
"""
import asyncio
import signal
import sys

received = 0


async def session(reader, writer):
    global received
    writer.write(b"220 sink ESMTP\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"EHLO":
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            while (body := await reader.readline()) not in (b".\r\n", b""):
                pass
            received += 1
            writer.write(b"250 OK\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


async def main(port):
    server = await asyncio.start_server(session, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(f"smtp sink received {received} messages", flush=True)


asyncio.run(main(int(sys.argv[1])))
