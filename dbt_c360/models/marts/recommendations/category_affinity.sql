-- "Customers who bought X bought Y next": one row per ordered pair of catalogue categories,
-- from every valid transaction (statistics in macro recs_category_affinity). Feeds the app's
-- heatmap and the reasons of marts.next_best_category.

with

transactions as (

    select * from {{ ref('transactions') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

affinity as (

    {{ c360.recs_category_affinity('transactions', 'product_categories') | indent(4) }}

),

final as (

    select
        from_category,
        to_category,
        score,
        lift,
        raw_share,
        transition_count,
        customer_count,
        from_switch_count,
        is_repeat,
        from_sort_order,
        to_sort_order

    from affinity

)

select * from final
