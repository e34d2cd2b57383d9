//! The API description of the records whose wire shape is put together by hand: a
//! service or organisation as a client sends it (its content plus the server's fields an
//! exported record carries) and as the server answers. Built from the content types'
//! derived schemas, so a field added to the content is described everywhere at once.

use super::{
    OrganizationContent, OrganizationInput, Provenance, Service, ServiceContent, ServiceInput,
};
use crate::domain::Organization;
use std::borrow::Cow;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, Ref, RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

type Schemas = Vec<(String, RefOr<Schema>)>;

/// The derived object schema of a content type.
fn content_of<T: PartialSchema>() -> Object {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => unreachable!("content types derive an object schema"),
    }
}

fn string(format: KnownFormat, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .description((!description.is_empty()).then_some(description))
        .build()
}

fn read_only(mut schema: Object) -> Object {
    schema.read_only = Some(true);
    schema
}

/// Adds `T` and what it refers to.
fn add<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// The server's fields, read-only: present on answers, accepted (and checked or
/// ignored) on input so an exported record imports unchanged.
fn with_server_fields(object: ObjectBuilder) -> ObjectBuilder {
    object
        .property(
            "version",
            read_only(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .build(),
            ),
        )
        .property("created_at", read_only(string(KnownFormat::DateTime, "")))
        .property(
            "last_modified",
            read_only(string(KnownFormat::DateTime, "")),
        )
}

/// A record's content with its id and the server's fields; on input, unknown fields are
/// refused (the content's `additionalProperties: false`), on answers the record has more.
fn record_object<T: PartialSchema>(input: bool) -> ObjectBuilder {
    let mut object = content_of::<T>();
    if !input {
        object.additional_properties = None;
    }
    let id = if input {
        "Optional on create; must match the path on update."
    } else {
        ""
    };
    with_server_fields(ObjectBuilder::from(object).property("id", string(KnownFormat::Uuid, id)))
}

fn organization_object(input: bool) -> ObjectBuilder {
    record_object::<OrganizationContent>(input).property(
        "retired",
        read_only(ObjectBuilder::new().schema_type(Type::Boolean).build()),
    )
}

fn service_object(input: bool) -> ObjectBuilder {
    let builder = record_object::<ServiceContent>(input);
    let builder = if input {
        builder
            .property(
                "organization_id",
                string(
                    KnownFormat::Uuid,
                    "An existing organisation (or give `organization`).",
                ),
            )
            .property("organization", reference::<OrganizationInput>())
    } else {
        builder.property("organization", reference::<Organization>())
    };
    builder.property("source", reference::<Provenance>())
}

/// Describes a record type: its object (built by `$object`), required fields, a
/// description, the content whose referred schemas it needs, and the records it refers to.
macro_rules! record_schema {
    ($type:ty, $object:expr, required [$($field:literal),*], $description:literal,
     content $content:ty, refers [$($referred:ty),*]) => {
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                <[&str; _]>::into_iter([$($field),*])
                    .fold($object, ObjectBuilder::required)
                    .description(Some($description))
                    .build()
                    .into()
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($type))
            }

            fn schemas(schemas: &mut Schemas) {
                <$content>::schemas(schemas);
                $(add::<$referred>(schemas);)*
            }
        }
    };
}

record_schema!(
    ServiceInput,
    service_object(true),
    required [],
    "A service. Unknown fields are refused. Exported records (with id, version, timestamps and the organisation embedded) are accepted too.",
    content ServiceContent,
    refers [OrganizationInput, Provenance]
);

record_schema!(
    Service,
    service_object(false),
    required ["id", "organization", "version", "created_at", "last_modified"],
    "A service as stored, with its organisation.",
    content ServiceContent,
    refers [Organization, Provenance]
);

record_schema!(
    OrganizationInput,
    organization_object(true),
    required [],
    "An organisation. Unknown fields are refused.",
    content OrganizationContent,
    refers []
);

record_schema!(
    Organization,
    organization_object(false),
    required ["id", "retired", "version", "created_at", "last_modified"],
    "An organisation as stored.",
    content OrganizationContent,
    refers []
);
