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

fn organization_object(input: bool) -> ObjectBuilder {
    let mut object = content_of::<OrganizationContent>();
    if !input {
        object.additional_properties = None;
    }
    let mut builder = ObjectBuilder::from(object).property(
        "id",
        string(
            KnownFormat::Uuid,
            if input {
                "Optional on create; must match the path on update."
            } else {
                ""
            },
        ),
    );
    builder = builder.property(
        "retired",
        read_only(ObjectBuilder::new().schema_type(Type::Boolean).build()),
    );
    with_server_fields(builder)
}

fn service_object(input: bool) -> ObjectBuilder {
    let mut object = content_of::<ServiceContent>();
    if !input {
        object.additional_properties = None;
    }
    let mut builder = ObjectBuilder::from(object).property(
        "id",
        string(
            KnownFormat::Uuid,
            if input {
                "Optional on create; must match the path on update."
            } else {
                ""
            },
        ),
    );
    builder = if input {
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
    with_server_fields(builder).property("source", reference::<Provenance>())
}

impl PartialSchema for ServiceInput {
    fn schema() -> RefOr<Schema> {
        service_object(true)
            .description(Some(
                "A service. Unknown fields are refused. Exported records (with id, version, timestamps and the organisation embedded) are accepted too.",
            ))
            .build()
            .into()
    }
}

impl ToSchema for ServiceInput {
    fn schemas(schemas: &mut Schemas) {
        ServiceContent::schemas(schemas);
        add::<OrganizationInput>(schemas);
        add::<Provenance>(schemas);
    }
}

impl PartialSchema for Service {
    fn schema() -> RefOr<Schema> {
        [
            "id",
            "organization",
            "version",
            "created_at",
            "last_modified",
        ]
        .into_iter()
        .fold(service_object(false), ObjectBuilder::required)
        .description(Some("A service as stored, with its organisation."))
        .build()
        .into()
    }
}

impl ToSchema for Service {
    fn schemas(schemas: &mut Schemas) {
        ServiceContent::schemas(schemas);
        add::<Organization>(schemas);
        add::<Provenance>(schemas);
    }
}

impl PartialSchema for OrganizationInput {
    fn schema() -> RefOr<Schema> {
        organization_object(true)
            .description(Some("An organisation. Unknown fields are refused."))
            .build()
            .into()
    }
}

impl ToSchema for OrganizationInput {
    fn schemas(schemas: &mut Schemas) {
        OrganizationContent::schemas(schemas);
    }
}

impl PartialSchema for Organization {
    fn schema() -> RefOr<Schema> {
        ["id", "retired", "version", "created_at", "last_modified"]
            .into_iter()
            .fold(organization_object(false), ObjectBuilder::required)
            .build()
            .into()
    }
}

impl ToSchema for Organization {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Organization")
    }

    fn schemas(schemas: &mut Schemas) {
        OrganizationContent::schemas(schemas);
    }
}
