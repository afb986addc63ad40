{#-
    Category-to-category "bought X, then bought Y next" statistics, one row per ordered pair
    of catalogue categories (diagonal included), from the purchases in `purchases`.

    Arguments are relation names (a ref() or a CTE name of the calling model):
      purchases  - customer_id, transaction_id, transaction_at, category
      categories - category_name, sort_order (the product_categories seed)

    A transition is a pair of consecutive purchases of one customer (ordered by
    transaction_at, then transaction_id). A switch is a transition into another category.
    For X != Y:
      raw_share  = switches X -> Y / switches out of X
      score      = (switches X -> Y + a * prior(Y|X)) / (switches out of X + a), a = var('recs_affinity_smoothing')
      prior(Y|X) = switches into Y / switches into any category but X (overall switch mix)
      lift       = score / prior(Y|X)
    The diagonal keeps its counts (repeat purchases) with null score, raw_share and lift:
    a repeat is not a recommendation. Only the data passed in is read, so the caller decides
    the time window (the backtest passes training purchases only).
-#}
{% macro recs_category_affinity(purchases, categories) -%}
    {{ return(adapter.dispatch('recs_category_affinity', 'c360')(purchases, categories)) }}
{%- endmacro %}

{% macro default__recs_category_affinity(purchases, categories) -%}
{%- set smoothing = var('recs_affinity_smoothing', 5) | float -%}
with

affinity_purchases as (

    select customer_id, transaction_id, transaction_at, category
    from {{ purchases }}

),

affinity_categories as (

    select category_name as category, sort_order
    from {{ categories }}

),

consecutive as (

    select
        customer_id,
        category as from_category,
        lead(category) over (
            partition by customer_id
            order by transaction_at, transaction_id
        ) as to_category

    from affinity_purchases

),

transitions as (

    select
        from_category,
        to_category,
        count(*) as transition_count,
        count(distinct customer_id) as customer_count

    from consecutive
    where to_category is not null
    group by from_category, to_category

),

grid as (

    select
        from_categories.category as from_category,
        from_categories.sort_order as from_sort_order,
        to_categories.category as to_category,
        to_categories.sort_order as to_sort_order,
        coalesce(transitions.transition_count, 0) as transition_count,
        coalesce(transitions.customer_count, 0) as customer_count,
        case
            when from_categories.category = to_categories.category then 0
            else coalesce(transitions.transition_count, 0)
        end as switch_count

    from affinity_categories as from_categories
    cross join affinity_categories as to_categories
    left join transitions
        on transitions.from_category = from_categories.category
        and transitions.to_category = to_categories.category

),

switches_out as (

    select from_category, sum(switch_count) as from_switch_count
    from grid
    group by from_category

),

switches_in as (

    select to_category, sum(switch_count) as to_switch_count
    from grid
    group by to_category

),

switch_total as (

    select sum(switch_count) as total_switch_count
    from grid

),

priors as (

    select
        grid.*,
        switches_out.from_switch_count,
        -- share of all switches that go into Y, among switches into a category other than X;
        -- uniform over the other categories when the data has no switch at all
        case
            when switch_total.total_switch_count - from_in.to_switch_count > 0
                then cast(to_in.to_switch_count as {{ c360.recs_double_type() }})
                    / (switch_total.total_switch_count - from_in.to_switch_count)
            else 1.0 / nullif((select count(*) from affinity_categories) - 1, 0)
        end as prior_share

    from grid
    inner join switches_out
        on switches_out.from_category = grid.from_category
    inner join switches_in as to_in
        on to_in.to_category = grid.to_category
    inner join switches_in as from_in
        on from_in.to_category = grid.from_category
    cross join switch_total

),

final as (

    select
        from_category,
        to_category,
        from_sort_order,
        to_sort_order,
        from_category = to_category as is_repeat,
        transition_count,
        customer_count,
        from_switch_count,
        case
            when from_category <> to_category and from_switch_count > 0
                then cast(switch_count as {{ c360.recs_double_type() }}) / from_switch_count
        end as raw_share,
        case
            when from_category <> to_category
                then (switch_count + {{ smoothing }} * prior_share) / (from_switch_count + {{ smoothing }})
        end as score,
        case
            when from_category <> to_category and prior_share > 0
                then ((switch_count + {{ smoothing }} * prior_share) / (from_switch_count + {{ smoothing }}))
                    / prior_share
        end as lift

    from priors

)

select * from final
{%- endmacro %}
