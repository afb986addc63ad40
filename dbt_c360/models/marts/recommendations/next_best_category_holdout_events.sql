-- The test events of the recommender's offline evaluation: for every customer with at least
-- one training purchase (dated before the cutoff), their FIRST purchase on or after the cutoff
-- in a category they had not bought before the cutoff (macro recs_new_category_events).
-- Customers without such a purchase have no row (nothing to predict). new_category_count =
-- recommendable catalogue categories the customer had not bought before the cutoff (a list of
-- k >= new_category_count hits whatever its order); customers without training purchases are
-- cold starts, where the model is the popularity baseline by construction, and are not evaluated.

with

cutoff as (

    select * from {{ ref('next_best_category_cutoff') }}

),

transactions as (

    select * from {{ ref('transactions') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

events as (

    {{ c360.recs_new_category_events(
        transactions='transactions',
        categories='product_categories',
        train_end='(select cutoff_date from cutoff)',
    ) | indent(4) }}

),

final as (

    select
        events.customer_id,
        events.category,
        events.transaction_id,
        events.purchased_at,
        events.new_category_count,
        cutoff.cutoff_date

    from events
    cross join cutoff

)

select * from final
