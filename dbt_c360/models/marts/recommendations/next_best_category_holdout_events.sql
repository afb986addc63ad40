-- The test events of the recommender's offline evaluation: for every customer with at least
-- one training purchase (dated before the cutoff), their FIRST purchase on or after the cutoff
-- in a category they had not bought before the cutoff. Customers without such a purchase have
-- no row (nothing to predict). new_category_count = catalogue categories the customer had not
-- bought before the cutoff (a list of k >= new_category_count hits whatever its order);
-- customers without training purchases are cold starts, where the model is the popularity
-- baseline by construction, and are not evaluated.

with

cutoff as (

    select * from {{ ref('next_best_category_cutoff') }}

),

transactions as (

    select * from {{ ref('transactions') }}

),

training_categories as (

    select distinct
        transactions.customer_id,
        transactions.category
    from transactions
    inner join cutoff
        on transactions.transaction_date < cutoff.cutoff_date

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

training_customers as (

    select
        customer_id,
        (select count(*) from product_categories) - count(*) as new_category_count

    from training_categories
    group by customer_id

),

holdout_purchases as (

    select transactions.*
    from transactions
    inner join cutoff
        on transactions.transaction_date >= cutoff.cutoff_date

),

new_category_purchases as (

    select
        holdout_purchases.customer_id,
        holdout_purchases.transaction_id,
        holdout_purchases.transaction_at,
        holdout_purchases.category,
        training_customers.new_category_count,
        row_number() over (
            partition by holdout_purchases.customer_id
            order by holdout_purchases.transaction_at, holdout_purchases.transaction_id
        ) as new_category_purchase_number

    from holdout_purchases
    inner join training_customers
        on holdout_purchases.customer_id = training_customers.customer_id
    left join training_categories
        on
            holdout_purchases.customer_id = training_categories.customer_id
            and holdout_purchases.category = training_categories.category
    where training_categories.customer_id is null

),

final as (

    select
        new_category_purchases.customer_id,
        new_category_purchases.category,
        new_category_purchases.transaction_id,
        new_category_purchases.transaction_at as purchased_at,
        new_category_purchases.new_category_count,
        cutoff.cutoff_date

    from new_category_purchases
    cross join cutoff
    where new_category_purchases.new_category_purchase_number = 1

)

select * from final
