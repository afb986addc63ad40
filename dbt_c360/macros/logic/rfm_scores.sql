{#-
    The three RFM scores as select-list items `recency_score, frequency_score, monetary_score`:
    quintiles (ntile 5) among the rows given, 5 = best (most recent, most orders, highest spend),
    ties broken by customer_id so scores are deterministic on every engine. `partition_by`
    (optional) scores each partition on its own: marts.customer_monthly_states scores the
    customers of each month end among themselves, marts.customers scores everyone as of the
    build; both use this macro so that the as-of month's states equal marts.customers.
    Rows must be customers with at least one purchase. Plain window functions, the same on every
    engine (the engine-specific part is c360.binary_sort_key), so it is not dispatched.
-#}
{% macro rfm_scores(days_since_last_purchase, order_count, total_spend, customer_id, partition_by=none) -%}
    {%- set partition = 'partition by ' ~ partition_by if partition_by else '' -%}
    ntile(5) over (
        {{ partition }}
        order by {{ days_since_last_purchase }} desc, {{ c360.binary_sort_key(customer_id) }}
    ) as recency_score,
    ntile(5) over (
        {{ partition }}
        order by {{ order_count }}, {{ c360.binary_sort_key(customer_id) }}
    ) as frequency_score,
    ntile(5) over (
        {{ partition }}
        order by {{ total_spend }}, {{ c360.binary_sort_key(customer_id) }}
    ) as monetary_score
{%- endmacro %}
