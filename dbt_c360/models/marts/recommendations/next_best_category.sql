-- Top 3 next best categories for every customer (macro recs_recommend, method 'model'):
-- categories the customer has not bought yet, scored by a recency-weighted mix of
-- "customers who bought X bought Y next" switch probabilities over the customer's own
-- categories; prospects get the most popular categories; customers with fewer than 3 new
-- categories left also get their least recently bought ones ("Not bought recently").

with

transactions as (

    select * from {{ ref('transactions') }}

),

customers as (

    select * from {{ ref('customers') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

recommendations as (

    {{ c360.recs_recommend(
        purchases='transactions',
        customers='customers',
        categories='product_categories',
        as_of='(select max(transaction_at) from transactions)',
        method='model',
        k=3,
    ) | indent(4) }}

),

final as (

    select
        customer_id,
        rank,
        category,
        score,
        reason,
        is_new_category

    from recommendations

)

select * from final
