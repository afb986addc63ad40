-- customer_category_spend and the <slug>_amount columns of customers tell the same story.
{%- set slugs = c360.product_category_slugs() %}

with

spend as (

    select * from {{ ref('customer_category_spend') }}

),

customers as (

    select * from {{ ref('customers') }}

),

wide as (
    {% for slug in slugs %}
    select
        customer_id,
        '{{ slug }}' as category_slug,
        {{ slug }}_amount as amount
    from customers
    where {{ slug }}_amount <> 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    coalesce(wide.customer_id, spend.customer_id) as customer_id,
    coalesce(wide.category_slug, spend.category_slug) as category_slug
from wide
full outer join spend
    on
        wide.customer_id = spend.customer_id
        and wide.category_slug = spend.category_slug
where
    wide.customer_id is null
    or spend.customer_id is null
    or abs(wide.amount - spend.amount) > 0.01
