"""KPI views: one row per order with the facts the KPIs are made of (kpi_order_facts)

Views are not in the models' metadata, so Alembic's comparison never sees them. The SQL is
written out here, frozen like any migration: date arithmetic and JSON differ between SQLite
and PostgreSQL, the rest is shared. A later migration that drops or retypes a column read
here (PostgreSQL refuses while a view depends on it) drops the view first and creates it
again after. SQLite table copies (batch mode) work with views in place: env.py turns on
`legacy_alter_table` for migrations.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Per dialect: hours between two timestamps, the UTC day of a timestamp and of a date (days
# since 1970-01-01, so "shipped by day N" is plain integer arithmetic in any database), a
# text member and the length of an array member of a JSON column.
_SQLITE = {
    "hours": "((julianday({a}) - julianday({b})) * 24.0)",
    "day": "CAST(julianday(date({ts})) - 2440587.5 AS INTEGER)",
    "date_day": "CAST(julianday({d}) - 2440587.5 AS INTEGER)",
    "json_text": "json_extract({col}, '$.{key}')",
    "json_len": "json_array_length({col}, '$.{key}')",
}
_POSTGRESQL = {
    "hours": "CAST(EXTRACT(EPOCH FROM ({a} - {b})) / 3600.0 AS DOUBLE PRECISION)",
    "day": "(CAST(({ts} AT TIME ZONE 'UTC') AS DATE) - DATE '1970-01-01')",
    "date_day": "({d} - DATE '1970-01-01')",
    "json_text": "({col} ->> '{key}')",
    "json_len": "CASE WHEN jsonb_typeof({col} -> '{key}') = 'array' THEN jsonb_array_length({col} -> '{key}') END",
}

# The order's first event of a kind, by the ledger's index on (entity, entity_id).
_EVENT = (
    "{alias}.id = (SELECT MIN(e.id) FROM audit_events e WHERE e.entity = 'order' AND e.entity_id = o.id"
    " AND e.action = '{action}')"
)


def _facts_sql(f: dict[str, str]) -> str:
    started = "COALESCE(o.placed_at, o.received_at)"
    intake_backordered = f"COALESCE({f['json_len'].format(col='rcv.detail', key='backordered')}, 0)"
    # Intake lists a zero-quantity line with the backordered ones; it has no backorder row.
    has_backorder = (
        "EXISTS (SELECT 1 FROM backorders b JOIN order_lines bl ON bl.id = b.line_id WHERE bl.order_id = o.id)"
    )
    # Known only when every shipment that left has its cost.
    shipping_cost = "CASE WHEN s.shipments > 0 AND s.shipments = s.costed THEN s.cost END"
    return f"""
CREATE VIEW kpi_order_facts AS
SELECT
    o.id AS order_id,
    o.channel_id AS channel_id,
    c.code AS channel,
    c.kind AS channel_kind,
    c.currency AS channel_currency,
    o.external_id AS external_id,
    o.buyer_name AS buyer_name,
    o.status AS status,
    o.currency AS currency,
    o.total_minor AS total_minor,
    o.received_at AS received_at,
    o.placed_at AS placed_at,
    {started} AS started_at,
    o.requested_ship_date AS requested_ship_date,
    s.first_shipped_at AS first_shipped_at,
    {f['hours'].format(a='s.first_shipped_at', b=started)} AS hours_to_ship,
    {f['day'].format(ts=started)} AS start_day,
    {f['date_day'].format(d='o.requested_ship_date')} AS requested_day,
    {f['day'].format(ts='s.first_shipped_at')} AS shipped_day,
    COALESCE(l.units_ordered, 0) AS units_ordered,
    COALESCE(l.units_shipped, 0) AS units_shipped,
    COALESCE(l.units_cancelled, 0) AS units_cancelled,
    CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END AS cancelled,
    cx.at AS cancelled_at,
    {f['json_text'].format(col='cx.detail', key='reason')} AS cancel_reason,
    CASE WHEN {has_backorder} THEN 1 ELSE 0 END AS backordered,
    {intake_backordered} AS intake_backordered_lines,
    CASE WHEN c.kind IN ('marketplace', 'cart') AND {intake_backordered} > 0 AND {has_backorder}
         THEN 1 ELSE 0 END AS oversold,
    COALESCE(r.rmas, 0) AS rmas,
    COALESCE(r.units_authorised, 0) AS units_return_authorised,
    COALESCE(r.units_received, 0) AS units_returned,
    {shipping_cost} AS shipping_cost_minor,
    d.cost AS routing_cost_minor,
    CASE WHEN {shipping_cost} IS NOT NULL OR d.cost IS NOT NULL
         THEN COALESCE({shipping_cost}, 0) + COALESCE(d.cost, 0) END AS cost_minor
FROM orders o
JOIN channels c ON c.id = o.channel_id
LEFT JOIN (
    SELECT order_id, MIN(shipped_at) AS first_shipped_at, COUNT(*) AS shipments,
           COUNT(cost_minor) AS costed, SUM(cost_minor) AS cost
    FROM shipments
    WHERE shipped_at IS NOT NULL AND status <> 'cancelled'
    GROUP BY order_id
) s ON s.order_id = o.id
LEFT JOIN (
    SELECT order_id, SUM(qty) AS units_ordered, SUM(qty_shipped) AS units_shipped,
           SUM(qty_cancelled) AS units_cancelled
    FROM order_lines
    GROUP BY order_id
) l ON l.order_id = o.id
LEFT JOIN (
    SELECT rt.order_id, COUNT(DISTINCT rt.id) AS rmas, SUM(rl.qty) AS units_authorised,
           SUM(rl.qty_received) AS units_received
    FROM returns rt
    LEFT JOIN return_lines rl ON rl.return_id = rt.id
    WHERE rt.status <> 'cancelled'
    GROUP BY rt.order_id
) r ON r.order_id = o.id
LEFT JOIN (
    SELECT order_id, SUM(cost_minor) AS cost
    FROM routing_decisions
    GROUP BY order_id
) d ON d.order_id = o.id
LEFT JOIN audit_events rcv ON {_EVENT.format(alias='rcv', action='order.received')}
LEFT JOIN audit_events cx ON {_EVENT.format(alias='cx', action='order.cancelled')}
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(_facts_sql(_POSTGRESQL if dialect == "postgresql" else _SQLITE))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS kpi_order_facts")
