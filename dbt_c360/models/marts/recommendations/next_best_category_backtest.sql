-- The recommender replayed at the evaluation cutoff: the top 3 lists of the production model
-- and of the two baselines, computed by the same macros (recs_method_lists, recs_recommend) from TRAINING
-- purchases only (dated before next_best_category_cutoff.cutoff_date), for every customer
-- with at least one training purchase. Nothing dated on or after the cutoff is read here.

-- depends_on: {{ ref('stg_recs_model__lightgbm_scores') }}

with

cutoff as (

    select * from {{ ref('next_best_category_cutoff') }}

),

transactions as (

    select * from {{ ref('transactions') }}

),

customers as (

    select * from {{ ref('customers') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

training_purchases as (

    select transactions.*
    from transactions
    inner join cutoff
        on transactions.transaction_date < cutoff.cutoff_date

),

training_customers as (

    select distinct customer_id
    from training_purchases

),

method_lists as (

    {{ c360.recs_method_lists(
        purchases='training_purchases',
        customers='customers',
        categories='product_categories',
        as_of='(select cast(cutoff_date as ' ~ dbt.type_timestamp() ~ ') from cutoff)',
        k=3,
        scope='test',
    ) | indent(4) }}

),

final as (

    select
        method_lists.method,
        method_lists.customer_id,
        method_lists.rank,
        method_lists.category,
        method_lists.score,
        method_lists.reason,
        method_lists.is_new_category,
        cutoff.cutoff_date

    from method_lists
    inner join training_customers
        on method_lists.customer_id = training_customers.customer_id
    cross join cutoff

)

select * from final
