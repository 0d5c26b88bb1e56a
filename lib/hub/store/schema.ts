/**
 * The store's schema as numbered migrations; `PRAGMA user_version` holds how many ran. Add a new
 * entry to change the schema, never edit a shipped one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: devices, twins, jobs, D2C messages, C2D queue, hub settings
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('enabled','disabled')),
    status_reason TEXT,
    status_updated TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    primary_key TEXT,
    secondary_key TEXT,
    primary_thumbprint TEXT,
    secondary_thumbprint TEXT,
    etag_version INTEGER NOT NULL,
    generation_id TEXT NOT NULL,
    connection_state TEXT NOT NULL,
    connection_state_updated TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    c2d_count INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
  );
  CREATE TABLE twins (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id) ON DELETE CASCADE,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    desired_version INTEGER NOT NULL,
    reported_version INTEGER NOT NULL
  );
  CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    doc TEXT NOT NULL
  );
  CREATE TABLE d2c (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    body BLOB NOT NULL,
    properties TEXT NOT NULL,
    system_properties TEXT NOT NULL,
    enqueued TEXT NOT NULL
  );
  CREATE INDEX d2c_device ON d2c(device_id, seq);
  CREATE TABLE c2d (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    lock_token TEXT UNIQUE,
    state TEXT NOT NULL,
    body BLOB NOT NULL,
    properties TEXT NOT NULL,
    system_properties TEXT NOT NULL,
    enqueued TEXT NOT NULL,
    expiry TEXT,
    delivery_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX c2d_device ON c2d(device_id, state, seq);
  `,
  // 2: the local Device Provisioning Service (lib/hub/dps): enrollments and registrations
  `
  CREATE TABLE dps_enrollments (
    registration_id TEXT PRIMARY KEY,
    attestation TEXT NOT NULL CHECK (attestation IN ('symmetricKey','x509','tpm')),
    primary_key TEXT,
    secondary_key TEXT,
    thumbprint TEXT,
    endorsement_key TEXT,
    device_id TEXT,
    initial_twin TEXT,
    provisioning_status TEXT NOT NULL CHECK (provisioning_status IN ('enabled','disabled')),
    created TEXT NOT NULL
  );
  CREATE TABLE dps_groups (
    name TEXT PRIMARY KEY,
    attestation TEXT NOT NULL CHECK (attestation IN ('symmetricKey','x509')),
    primary_key TEXT,
    secondary_key TEXT,
    ca_cert TEXT,
    initial_twin TEXT,
    provisioning_status TEXT NOT NULL CHECK (provisioning_status IN ('enabled','disabled')),
    created TEXT NOT NULL
  );
  CREATE TABLE dps_registrations (
    registration_id TEXT PRIMARY KEY,
    enrollment TEXT NOT NULL,
    device_id TEXT NOT NULL,
    assigned_hub TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
