{#-
    The test events of a time split: for every customer with at least one purchase dated before
    `train_end`, their FIRST purchase dated on or after `train_end` (and before `window_end`,
    when given) in a category they had not bought before `train_end`. At most one row per
    customer. Purchases and catalogue categories outside recs_is_recommendable are ignored.
    The holdout events (train_end = cutoff) and the validation events (train_end = validation
    cutoff, window_end = cutoff) both come from here.

    Arguments:
      transactions - relation with customer_id, transaction_id, transaction_at, transaction_date, category
      categories   - relation with category_name (the product_categories seed)
      train_end    - SQL date expression: training = transaction_date before it
      window_end   - SQL date expression or none: the event window ends before it
    Output: customer_id, category, transaction_id, purchased_at, new_category_count
    (recommendable categories the customer had not bought before train_end).
-#}
{% macro recs_new_category_events(transactions, categories, train_end, window_end=none) -%}
    {{ return(adapter.dispatch('recs_new_category_events', 'c360')(transactions, categories, train_end, window_end)) }}
{%- endmacro %}

{% macro default__recs_new_category_events(transactions, categories, train_end, window_end) -%}
with

event_transactions as (

    select customer_id, transaction_id, transaction_at, transaction_date, category
    from {{ transactions }}
    where {{ c360.recs_is_recommendable('category') }}

),

event_categories as (

    select category_name
    from {{ categories }}
    where {{ c360.recs_is_recommendable('category_name') }}

),

training_categories as (

    select distinct
        customer_id,
        category
    from event_transactions
    where transaction_date < {{ train_end }}

),

training_customers as (

    select
        customer_id,
        (select count(*) from event_categories) - count(*) as new_category_count

    from training_categories
    group by customer_id

),

window_purchases as (

    select *
    from event_transactions
    where
        transaction_date >= {{ train_end }}
        {%- if window_end %}
        and transaction_date < {{ window_end }}
        {%- endif %}

),

new_category_purchases as (

    select
        window_purchases.customer_id,
        window_purchases.transaction_id,
        window_purchases.transaction_at,
        window_purchases.category,
        training_customers.new_category_count,
        row_number() over (
            partition by window_purchases.customer_id
            order by window_purchases.transaction_at, window_purchases.transaction_id
        ) as new_category_purchase_number

    from window_purchases
    inner join training_customers
        on window_purchases.customer_id = training_customers.customer_id
    left join training_categories
        on
            window_purchases.customer_id = training_categories.customer_id
            and window_purchases.category = training_categories.category
    where training_categories.customer_id is null

),

final as (

    select
        customer_id,
        category,
        transaction_id,
        transaction_at as purchased_at,
        new_category_count

    from new_category_purchases
    where new_category_purchase_number = 1

)

select * from final
{%- endmacro %}
