//! The JSON shapes of the REST API, as GlitchTip (and Sentry) return them: camelCase,
//! ids as strings. Kept apart from store rows so the wire format changes only on
//! purpose.

use faultline_domain::access::Scopes;
use faultline_store::{ApiToken, Organization, Project, ProjectKey, Timestamp, User};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    #[schema(value_type = String, format = DateTime)]
    pub date_joined: Timestamp,
    #[schema(value_type = String, format = DateTime, nullable)]
    pub last_login: Option<Timestamp>,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub has_password_auth: bool,
    pub has_usable_password: bool,
    pub subscribe_by_default: bool,
    #[schema(value_type = Object)]
    pub options: Value,
    #[schema(value_type = Vec<Object>)]
    pub emails: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub identities: Vec<Value>,
}

impl UserOut {
    pub fn from(user: &User) -> UserOut {
        UserOut {
            id: user.id.to_string(),
            name: user.name.clone(),
            username: user.email.clone(),
            email: user.email.clone(),
            date_joined: user.created_at,
            last_login: user.last_login_at,
            is_active: user.is_active,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            has_password_auth: user.password_hash.is_some(),
            has_usable_password: user.password_hash.is_some(),
            subscribe_by_default: user.subscribe_by_default,
            options: serde_json::from_str(&user.options).unwrap_or_else(|_| json!({})),
            emails: vec![
                json!({"id": user.id.to_string(), "email": user.email, "isPrimary": true, "isVerified": user.email_verified}),
            ],
            identities: Vec::new(),
        }
    }
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub date_created: Timestamp,
    #[schema(value_type = Object)]
    pub status: Value,
    #[schema(value_type = Object)]
    pub avatar: Value,
    pub is_early_adopter: bool,
    #[serde(rename = "require2FA")]
    pub require_2fa: bool,
    pub is_accepting_events: bool,
    pub event_throttle_rate: i32,
    pub open_membership: bool,
    #[serde(rename = "scrubIPAddresses")]
    pub scrub_ip_addresses: bool,
}

impl OrganizationOut {
    pub fn from(org: &Organization) -> OrganizationOut {
        OrganizationOut {
            id: org.id.to_string(),
            slug: org.slug.clone(),
            name: org.name.clone(),
            date_created: org.created_at,
            status: json!({"id": if org.is_active { "active" } else { "disabled" }, "name": if org.is_active { "active" } else { "disabled" }}),
            avatar: json!({"avatarType": "letter_avatar", "avatarUuid": null}),
            is_early_adopter: false,
            require_2fa: false,
            is_accepting_events: org.is_accepting_events,
            event_throttle_rate: org.event_throttle_rate,
            open_membership: org.open_membership,
            scrub_ip_addresses: org.scrub_ip_addresses,
        }
    }
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub platform: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub date_created: Timestamp,
    #[schema(value_type = String, format = DateTime, nullable)]
    pub first_event: Option<Timestamp>,
    pub status: &'static str,
    #[schema(value_type = Object)]
    pub avatar: Value,
    pub color: &'static str,
    pub features: Vec<String>,
    pub has_access: bool,
    pub is_bookmarked: bool,
    pub is_internal: bool,
    pub is_member: bool,
    pub is_public: bool,
    #[serde(rename = "scrubIPAddresses")]
    pub scrub_ip_addresses: bool,
    pub scrub_data: bool,
    pub event_throttle_rate: i32,
    pub grouping: String,
    /// The organization, on routes outside one (`GET /api/0/projects/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationOut>,
    /// Teams with access.
    #[schema(value_type = Vec<Object>)]
    pub teams: Vec<Value>,
    /// Environment names.
    pub environments: Vec<String>,
}

impl ProjectOut {
    pub fn from(project: &Project, org: Option<&Organization>) -> ProjectOut {
        ProjectOut {
            id: project.id.to_string(),
            slug: project.slug.clone(),
            name: project.name.clone(),
            platform: project.platform.clone(),
            date_created: project.created_at,
            first_event: project.first_event_at,
            status: "active",
            avatar: json!({"avatarType": "letter_avatar", "avatarUuid": null}),
            color: "",
            features: Vec::new(),
            has_access: true,
            is_bookmarked: false,
            is_internal: false,
            is_member: true,
            is_public: false,
            scrub_ip_addresses: project.scrub_ip_addresses,
            scrub_data: project.scrub_data,
            event_throttle_rate: project.event_throttle_rate,
            grouping: project.grouping.clone(),
            organization: org.map(OrganizationOut::from),
            teams: Vec::new(),
            environments: Vec::new(),
        }
    }
}

/// A client key with its DSNs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyOut {
    /// The public key (keys are addressed by it).
    pub id: String,
    pub name: String,
    pub label: String,
    pub public: String,
    pub secret: String,
    pub project_id: i64,
    pub is_active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub date_created: Timestamp,
    #[schema(value_type = Object, nullable)]
    pub rate_limit: Option<Value>,
    #[schema(value_type = Object)]
    pub dsn: Value,
    pub browser_sdk_version: &'static str,
}

impl KeyOut {
    pub fn from(key: &ProjectKey, public_url: &str, base_path: &str) -> KeyOut {
        let dsn = faultline_protocol::Dsn::for_server(
            &format!("{public_url}{base_path}"),
            &key.public_key,
            key.project_id.0 as u64,
        );
        let api = format!("{public_url}{base_path}/api/{}", key.project_id);
        KeyOut {
            id: key.public_key.clone(),
            name: key.label.clone(),
            label: key.label.clone(),
            public: key.public_key.clone(),
            secret: key.public_key.clone(),
            project_id: key.project_id.0,
            is_active: key.is_active,
            date_created: key.created_at,
            rate_limit: match (key.rate_limit_count, key.rate_limit_window) {
                (Some(count), Some(window)) => Some(json!({"count": count, "window": window})),
                _ => None,
            },
            dsn: json!({
                "public": dsn,
                "secret": dsn,
                "security": format!("{api}/security/?glitchtip_key={}", key.public_key),
                "csp": format!("{api}/security/?glitchtip_key={}", key.public_key),
                "minidump": format!("{api}/minidump/?sentry_key={}", key.public_key),
                "cdn": Value::Null,
            }),
            browser_sdk_version: "latest",
        }
    }
}

/// An API token; `token` is only present when it was just created.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOut {
    pub id: String,
    pub label: String,
    pub scopes: Vec<&'static str>,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime, nullable)]
    pub last_used: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl TokenOut {
    pub fn from(token: &ApiToken, secret: Option<String>) -> TokenOut {
        TokenOut {
            id: token.id.to_string(),
            label: token.label.clone(),
            scopes: Scopes::from_token_bits(token.scopes).names(),
            created: token.created_at,
            last_used: token.last_used_at,
            token: secret,
        }
    }
}
