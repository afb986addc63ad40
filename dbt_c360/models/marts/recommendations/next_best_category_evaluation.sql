-- Offline evaluation of the recommender against two baselines, on the time split of
-- next_best_category_cutoff. One row per method (model, cohort, popularity) and list length k,
-- plus method = 'served': the method next_best_category serves (served_method), chosen on the
-- validation window before the cutoff (next_best_category_validation), with its test scores.
--   hit_rate            share of evaluated customers whose holdout event (first purchase in a
--                       new category after the cutoff) is in the method's top k
--   ndcg                mean of 1 / log2(1 + rank of the event category) within the top k
--   coverage            catalogue coverage: share of the recommendable catalogue's categories
--                       that the method recommends in someone's top k (over the evaluated customers)
--   customers_evaluated customers with a holdout event
--   guaranteed_hit_rate share of them with at most k new categories left at the cutoff: every
--                       method hits them, so hit_rate can only vary above this floor
--   validation_hit_rate / validation_ndcg  the same scores on the validation window
-- On generated data whose generator is known (lists in recs_model.oracle_lists), also method = 'oracle':
-- the ceiling, the generator's true odds ranked (stg_recs_model__oracle_lists), scored on the
-- same test events by the same macro (a test customer the oracle could not match is a miss);
-- it is never a candidate for serving and has no validation scores.
{%- set ks = var('recs_eval_ks', [1, 3]) -%}
{%- set dataset = var('recs_dataset_label', 'warehouse') | string -%}
{%- if not modules.re.match('^[A-Za-z0-9_.-]{1,64}$', dataset) -%}
    {{ exceptions.raise_compiler_error("var recs_dataset_label must match [A-Za-z0-9_.-]{1,64}, got '" ~ dataset ~ "'") }}
{%- endif %}
{%- set double = c360.recs_double_type() %}

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

validation as (

    select * from {{ ref('next_best_category_validation') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

),

oracle_list_rows as (

    select * from {{ ref('stg_recs_model__oracle_lists') }}

),

oracle_lists as (

    select
        'oracle' as method,  -- noqa: RF04
        customer_id,
        rank,
        category

    from oracle_list_rows

),

oracle_scores as (

    {{ c360.recs_score_lists('oracle_lists', 'holdout_events', ks, methods=['oracle']) | indent(4) }}

),

method_scores as (

    {{ c360.recs_score_lists('backtest', 'holdout_events', ks) | indent(4) }}

),

scores as (

    select * from method_scores
    union all
    select * from oracle_scores  -- no oracle lists (own data): no oracle rows
    where exists (select 1 from oracle_list_rows)

),

guaranteed as (

    {% for k in ks -%}
    select
        {{ k | int }} as k,
        count(case when new_category_count <= {{ k | int }} then 1 end) as guaranteed_hit_count
    from holdout_events
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

served as (

    select distinct method as served_method
    from validation
    where is_served

),

totals as (

    select
        (select count(*) from holdout_events) as customers_evaluated,
        (
            select count(*) from product_categories
            where {{ c360.recs_is_recommendable('category_name') }}
        ) as catalogue_size

),

per_method as (

    select
        scores.method,
        scores.k,
        case
            when totals.customers_evaluated > 0
                then cast(scores.hit_count as {{ double }}) / totals.customers_evaluated
        end as hit_rate,
        case
            when totals.customers_evaluated > 0
                then cast(scores.ndcg_sum as {{ double }}) / totals.customers_evaluated
        end as ndcg,
        cast(scores.recommended_category_count as {{ double }}) / totals.catalogue_size as coverage,
        totals.customers_evaluated,
        scores.hit_count,
        case
            when totals.customers_evaluated > 0
                then cast(coalesce(guaranteed.guaranteed_hit_count, 0) as {{ double }}) / totals.customers_evaluated
        end as guaranteed_hit_rate,
        validation.hit_rate as validation_hit_rate,
        validation.ndcg as validation_ndcg,
        validation.customers_evaluated as validation_customers_evaluated,
        served.served_method

    from scores
    cross join totals
    cross join served
    left join guaranteed
        on scores.k = guaranteed.k
    left join validation
        on
            scores.method = validation.method
            and scores.k = validation.k

),

with_served as (

    select * from per_method
    union all
    select
        'served' as method,  -- noqa: RF04
        k,
        hit_rate,
        ndcg,
        coverage,
        customers_evaluated,
        hit_count,
        guaranteed_hit_rate,
        validation_hit_rate,
        validation_ndcg,
        validation_customers_evaluated,
        served_method

    from per_method
    where method = served_method

),

final as (

    select
        with_served.method,
        with_served.k,
        with_served.hit_rate,
        with_served.ndcg,
        with_served.coverage,
        with_served.customers_evaluated,
        with_served.hit_count,
        with_served.guaranteed_hit_rate,
        with_served.validation_hit_rate,
        with_served.validation_ndcg,
        with_served.validation_customers_evaluated,
        with_served.served_method,
        cutoff.cutoff_date,
        cutoff.validation_cutoff_date,
        '{{ dataset }}' as dataset

    from with_served
    cross join cutoff

)

select * from final
