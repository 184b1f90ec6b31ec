-- Intent: enable TimescaleDB. Irreversible in practice (every later table depends on it).
CREATE EXTENSION IF NOT EXISTS timescaledb;
