-- Top 3 next best categories for every customer, from the method that won on the validation
-- window (next_best_category_validation.is_served: the SQL model, the learned lightgbm model,
-- the cohort or the popularity baseline; method column). Only the served method is run
-- (recs_served_methods reads the choice at run time), by the same macros as in the backtest
-- (recs_method_lists, recs_recommend) on all purchases. Model: categories the customer has not
-- bought yet, scored by a recency-weighted mix of "customers who bought X bought Y next" switch
-- probabilities over the customer's own categories; prospects get the most popular categories.
-- Customers with fewer than 3 new categories left also get bought ones, as a labelled group of
-- their own after the new ones (is_new_category false, score 0), so rank follows score.
-- depends_on: {{ ref('stg_recs_model__lightgbm_scores') }}
{%- set served_methods = c360.recs_served_methods(ref('next_best_category_validation')) %}

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

validation as (

    select * from {{ ref('next_best_category_validation') }}

),

served as (

    select distinct method
    from validation
    where is_served

),

method_lists as (

    {{ c360.recs_method_lists(
        purchases='transactions',
        customers='customers',
        categories='product_categories',
        as_of='(select max(transaction_at) from transactions)',
        k=3,
        scope='production',
        methods=served_methods,
    ) | indent(4) }}

),

final as (

    select
        method_lists.customer_id,
        method_lists.rank,
        method_lists.category,
        method_lists.score,
        method_lists.reason,
        method_lists.is_new_category,
        method_lists.method

    from method_lists
    inner join served
        on method_lists.method = served.method

)

select * from final
