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

# Every fact is a lookup by order id through an index, so a report on a month reads that
# month's orders and their rows only, however long the history.
_EVENT = (
    "(SELECT {expr} FROM audit_events e WHERE e.entity = 'order' AND e.entity_id = o.id"
    " AND e.action = '{action}' ORDER BY e.id {order} LIMIT 1)"
)
_SHIPPED = "FROM shipments s WHERE s.order_id = o.id AND s.shipped_at IS NOT NULL AND s.status <> 'cancelled'"
_LINES = "FROM order_lines l WHERE l.order_id = o.id"
_RETURNED = "FROM returns rt JOIN return_lines rl ON rl.return_id = rt.id WHERE rt.order_id = o.id AND rt.status <> 'cancelled'"


def _facts_sql(f: dict[str, str]) -> str:
    # The clock starts when the order was placed, unless the channel says it was placed after
    # it reached us (the channel's clock runs ahead of ours): then when it reached us.
    placed_late = f["hours"].format(a="o.placed_at", b="o.received_at")
    started = f"CASE WHEN o.placed_at IS NOT NULL AND {placed_late} <= 0 THEN o.placed_at ELSE o.received_at END"
    first_shipped = f"(SELECT MIN(s.shipped_at) {_SHIPPED})"
    # The lines intake could not reserve, as its `order.received` event lists them.
    intake_backordered = "COALESCE({}, 0)".format(
        _EVENT.format(expr=f["json_len"].format(col="e.detail", key="backordered"), action="order.received", order="")
    )
    # Intake lists a zero-quantity line with the backordered ones; it has no backorder row.
    # (A scalar subquery, not EXISTS: PostgreSQL would hash every backorder for an EXISTS.)
    has_backorder = (
        "(SELECT 1 FROM order_lines bl JOIN backorders b ON b.line_id = bl.id WHERE bl.order_id = o.id LIMIT 1)"
        " IS NOT NULL"
    )
    # Known only when every shipment that left has its cost.
    shipping_cost = f"(SELECT CASE WHEN COUNT(*) > 0 AND COUNT(*) = COUNT(s.cost_minor) THEN SUM(s.cost_minor) END {_SHIPPED})"
    routing_cost = "(SELECT SUM(d.cost_minor) FROM routing_decisions d WHERE d.order_id = o.id)"
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
    o.fulfilment AS fulfilment,
    o.origin_kind AS origin_kind,
    o.received_at AS received_at,
    o.placed_at AS placed_at,
    {started} AS started_at,
    o.requested_ship_date AS requested_ship_date,
    {first_shipped} AS first_shipped_at,
    {f['hours'].format(a=first_shipped, b=started)} AS hours_to_ship,
    {f['day'].format(ts=started)} AS start_day,
    {f['date_day'].format(d='o.requested_ship_date')} AS requested_day,
    {f['day'].format(ts=first_shipped)} AS shipped_day,
    COALESCE((SELECT SUM(l.qty) {_LINES}), 0) AS units_ordered,
    COALESCE((SELECT SUM(l.qty_shipped) {_LINES}), 0) AS units_shipped,
    COALESCE((SELECT SUM(l.qty_cancelled) {_LINES}), 0) AS units_cancelled,
    CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END AS cancelled,
    {_EVENT.format(expr='e.at', action='order.cancelled', order='DESC')} AS cancelled_at,
    {_EVENT.format(expr=f['json_text'].format(col='e.detail', key='reason'), action='order.cancelled', order='DESC')}
        AS cancel_reason,
    CASE WHEN {has_backorder} THEN 1 ELSE 0 END AS backordered,
    {intake_backordered} AS intake_backordered_lines,
    CASE WHEN c.kind IN ('marketplace', 'cart') AND {intake_backordered} > 0 AND {has_backorder}
         THEN 1 ELSE 0 END AS oversold,
    (SELECT COUNT(*) FROM returns rt WHERE rt.order_id = o.id AND rt.status <> 'cancelled') AS rmas,
    COALESCE((SELECT SUM(CASE WHEN rt.status = 'closed' THEN rl.qty_received ELSE rl.qty END) {_RETURNED}), 0)
        AS units_return_authorised,
    COALESCE((SELECT SUM(rl.qty_received) {_RETURNED}), 0) AS units_returned,
    {shipping_cost} AS shipping_cost_minor,
    {routing_cost} AS routing_cost_minor,
    COALESCE({shipping_cost} + {routing_cost}, {shipping_cost}, {routing_cost}) AS cost_minor
FROM orders o
JOIN channels c ON c.id = o.channel_id
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(_facts_sql(_POSTGRESQL if dialect == "postgresql" else _SQLITE))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS kpi_order_facts")
