-- Offline evaluation of the recommender against two baselines, on the time split of
-- next_best_category_cutoff. One row per method (model, popularity, cohort) and list length k:
--   hit_rate            share of evaluated customers whose holdout event (first purchase in a
--                       new category after the cutoff) is in the method's top k
--   coverage            catalogue coverage: share of the catalogue's categories that the method
--                       recommends in someone's top k (over the evaluated customers)
--   customers_evaluated customers with a holdout event
--   guaranteed_hit_rate share of them with at most k new categories left at the cutoff: every
--                       method hits them, so hit_rate can only vary above this floor
{%- set ks = var('recs_eval_ks', [1, 3]) -%}
{%- set dataset = var('recs_dataset_label', 'warehouse') | string -%}
{%- if not modules.re.match('^[A-Za-z0-9_.-]{1,64}$', dataset) -%}
    {{ exceptions.raise_compiler_error("var recs_dataset_label must match [A-Za-z0-9_.-]{1,64}, got '" ~ dataset ~ "'") }}
{%- endif %}

with

cutoff as (

    select * from {{ ref('next_best_category_cutoff') }}

),

backtest as (

    select * from {{ ref('next_best_category_backtest') }}

),

holdout_events as (

    select * from {{ ref('next_best_category_holdout_events') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

methods as (

    {% for method in ['model', 'popularity', 'cohort'] -%}
    select '{{ method }}' as method  -- noqa: RF04
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

list_lengths as (

    {% for k in ks -%}
    select {{ k | int }} as k
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

evaluated_lists as (

    select
        backtest.method,
        list_lengths.k,
        backtest.customer_id,
        backtest.category,
        holdout_events.category as holdout_category

    from backtest
    inner join holdout_events
        on backtest.customer_id = holdout_events.customer_id
    inner join list_lengths
        on backtest.rank <= list_lengths.k

),

hits as (

    select
        method,
        k,
        count(distinct case when category = holdout_category then customer_id end) as hit_count,
        count(distinct category) as recommended_category_count

    from evaluated_lists
    group by method, k

),

guaranteed as (

    select
        list_lengths.k,
        count(case when holdout_events.new_category_count <= list_lengths.k then 1 end) as guaranteed_hit_count

    from list_lengths
    cross join holdout_events
    group by list_lengths.k

),

totals as (

    select
        (select count(*) from holdout_events) as customers_evaluated,
        (select count(*) from product_categories) as catalogue_size

),

final as (

    select
        methods.method,
        list_lengths.k,
        case
            when totals.customers_evaluated > 0
                then cast(coalesce(hits.hit_count, 0) as {{ c360.recs_double_type() }}) / totals.customers_evaluated
        end as hit_rate,
        (
            cast(coalesce(hits.recommended_category_count, 0) as {{ c360.recs_double_type() }})
            / totals.catalogue_size
        ) as coverage,
        totals.customers_evaluated,
        coalesce(hits.hit_count, 0) as hit_count,
        case
            when totals.customers_evaluated > 0
                then
                    cast(coalesce(guaranteed.guaranteed_hit_count, 0) as {{ c360.recs_double_type() }})
                    / totals.customers_evaluated
        end as guaranteed_hit_rate,
        cutoff.cutoff_date,
        '{{ dataset }}' as dataset

    from methods
    cross join list_lengths
    cross join totals
    cross join cutoff
    left join hits
        on
            methods.method = hits.method
            and list_lengths.k = hits.k
    left join guaranteed
        on list_lengths.k = guaranteed.k

)

select * from final
