-- Chooses the method next_best_category serves, on a validation window that ends before the
-- test window: every method (recs_method_lists) is run on purchases dated before
-- next_best_category_cutoff.validation_cutoff_date and scored (recs_score_lists) on the first
-- new-category purchase of each customer in [validation_cutoff_date, cutoff_date). Nothing dated
-- on or after cutoff_date is read here (filtered first, in validation_transactions).
-- One row per method and k; is_served marks, on every k, the method with the best NDCG at
-- k = var('recs_selection_k', 3) (ties: the order of recs_methods(), model first; no
-- validation events: the model).
{%- set ks = var('recs_eval_ks', [1, 3]) -%}
{%- set selection_k = var('recs_selection_k', 3) | int -%}
{%- if selection_k not in ks | map('int') | list -%}
    {{ exceptions.raise_compiler_error("var recs_selection_k must be one of recs_eval_ks, got " ~ selection_k) }}
{%- endif %}

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

validation_transactions as (

    select transactions.*
    from transactions
    inner join cutoff
        on transactions.transaction_date < cutoff.cutoff_date

),

validation_training as (

    select validation_transactions.*
    from validation_transactions
    inner join cutoff
        on validation_transactions.transaction_date < cutoff.validation_cutoff_date

),

validation_lists as (

    {{ c360.recs_method_lists(
        purchases='validation_training',
        customers='customers',
        categories='product_categories',
        as_of='(select cast(validation_cutoff_date as ' ~ dbt.type_timestamp() ~ ') from cutoff)',
        k=3,
        scope='validation',
    ) | indent(4) }}

),

validation_events as (

    {{ c360.recs_new_category_events(
        transactions='validation_transactions',
        categories='product_categories',
        train_end='(select validation_cutoff_date from cutoff)',
        window_end='(select cutoff_date from cutoff)',
    ) | indent(4) }}

),

scores as (

    {{ c360.recs_score_lists('validation_lists', 'validation_events', ks) | indent(4) }}

),

event_total as (

    select count(*) as customers_evaluated
    from validation_events

),

method_priority as (

    {% for method in c360.recs_methods() -%}
    select '{{ method }}' as method, {{ loop.index }} as priority  -- noqa: RF04
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

choice as (

    select
        scores.method,
        row_number() over (
            order by
                case when event_total.customers_evaluated > 0 then scores.ndcg_sum else 0 end desc,
                method_priority.priority
        ) as choice_rank

    from scores
    cross join event_total
    inner join method_priority
        on scores.method = method_priority.method
    where scores.k = {{ selection_k }}

),

final as (

    select
        scores.method,
        scores.k,
        case
            when event_total.customers_evaluated > 0
                then cast(scores.hit_count as {{ c360.recs_double_type() }}) / event_total.customers_evaluated
        end as hit_rate,
        case
            when event_total.customers_evaluated > 0
                then cast(scores.ndcg_sum as {{ c360.recs_double_type() }}) / event_total.customers_evaluated
        end as ndcg,
        scores.hit_count,
        event_total.customers_evaluated,
        coalesce(choice.choice_rank = 1, false) as is_served,
        {{ selection_k }} as selection_k,
        cutoff.validation_cutoff_date,
        cutoff.cutoff_date

    from scores
    cross join event_total
    cross join cutoff
    left join choice
        on scores.method = choice.method

)

select * from final
