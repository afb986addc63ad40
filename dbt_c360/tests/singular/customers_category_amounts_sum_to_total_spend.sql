-- The per-category amounts of a customer add up to total_spend (within rounding).
{%- set slugs = c360.product_category_slugs() %}

select
    customer_id,
    total_spend
from {{ ref('customers') }}
where
    abs(
        total_spend - (
            0
            {%- for slug in slugs %}
            + {{ slug }}_amount
            {%- endfor %}
        )
    ) > 0.01
