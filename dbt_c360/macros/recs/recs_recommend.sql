{#-
    Top-k next best categories per customer, from the purchases in `purchases` only.
    The production model (marts.next_best_category) and the offline backtest
    (marts.next_best_category_backtest, training purchases before the cutoff) both call
    this macro, so the evaluated logic is the production logic.

    Arguments:
      purchases  - relation with customer_id, transaction_id, transaction_at, category
      customers  - relation with customer_id, age_band (every customer to recommend for)
      categories - relation with category_name, sort_order (the product_categories seed)
      as_of      - SQL expression of the "now" timestamp, used only in "not recently" reasons
      method     - 'model'      : recency-weighted mix of the customer's categories'
                                  "bought X, then Y next" switch probabilities
                                  (recs_category_affinity); prospects get popularity
                   'lightgbm'   : the learned model's scores (stg_recs_model__lightgbm_scores,
                                  rows of `scope`), with the model's reason (the switch
                                  statistic of the category contributing most to the SQL
                                  model's score, true of the data it cites); prospects get
                                  popularity
                   'popularity' : baseline, share of customers who bought the category
                   'cohort'     : baseline, that share within the customer's age band,
                                  shrunk towards the global share (var recs_cohort_prior_customers)
      k          - list length
      scope      - which lightgbm scores to read: 'production' (all purchases), 'test'
                   (before the cutoff, the backtest) or 'validation' (before the validation cutoff)

    Categories the customer has not bought come first, by score. When fewer than k are left,
    the list is filled with bought categories, least recently bought first: a labelled group of
    its own (is_new_category false) that the method does not score (score 0), so rank 1..k always
    follows score descending. Their reason says "Not bought recently" only when the last purchase
    is at least var('recs_not_recent_days', 30) days before as_of, else "Buy again (no other new
    category to suggest)". Categories in var('recs_excluded_categories') are ignored
    (recs_is_recommendable). Output: customer_id, rank, category, score, reason, is_new_category.
    History weight of a purchase = var('recs_recency_decay') ^ (recency rank - 1), most recent
    purchase rank 1; only the latest var('recs_history_purchases') purchases count.
-#}
{% macro recs_recommend(purchases, customers, categories, as_of, method='model', k=3, scope='production') -%}
    {%- if method not in ('model', 'lightgbm', 'popularity', 'cohort') -%}
        {{ exceptions.raise_compiler_error("recs_recommend: method must be model, lightgbm, popularity or cohort, got '" ~ method ~ "'") }}
    {%- endif -%}
    {%- if scope not in ('production', 'test', 'validation') -%}
        {{ exceptions.raise_compiler_error("recs_recommend: scope must be production, test or validation, got '" ~ scope ~ "'") }}
    {%- endif -%}
    {{ return(adapter.dispatch('recs_recommend', 'c360')(purchases, customers, categories, as_of, method, k, scope)) }}
{%- endmacro %}

{% macro default__recs_recommend(purchases, customers, categories, as_of, method, k, scope) -%}
{%- set decay = var('recs_recency_decay', 0.7) | float -%}
{%- set history_purchases = var('recs_history_purchases', 50) | int -%}
{%- set cohort_prior = var('recs_cohort_prior_customers', 20) | float -%}
{%- set not_recent_days = var('recs_not_recent_days', 30) | int -%}
{%- set double = c360.recs_double_type() -%}
{%- set text = dbt.type_string() -%}
with

rec_purchases as (

    select customer_id, transaction_id, transaction_at, category
    from {{ purchases }}
    where {{ c360.recs_is_recommendable('category') }}

),

rec_customers as (

    select customer_id, coalesce(age_band, 'unknown') as cohort
    from {{ customers }}

),

rec_categories as (

    select category_name, sort_order
    from {{ categories }}
    where {{ c360.recs_is_recommendable('category_name') }}

),

as_of as (

    select {{ as_of }} as as_of_at

),

ranked_purchases as (

    select
        customer_id,
        category,
        transaction_at,
        row_number() over (
            partition by customer_id
            order by transaction_at desc, transaction_id desc
        ) as recency_rank

    from rec_purchases

),

customer_categories as (

    select
        customer_id,
        category,
        max(transaction_at) as last_purchase_at,
        sum(
            case
                when recency_rank <= {{ history_purchases }}
                    then power(cast({{ decay }} as {{ double }}), recency_rank - 1)
                else 0
            end
        ) as history_weight

    from ranked_purchases
    group by customer_id, category

),

customer_totals as (

    select customer_id, sum(history_weight) as total_history_weight
    from customer_categories
    group by customer_id

),

buyer_total as (

    select count(distinct customer_id) as buyer_count
    from rec_purchases

),

popularity as (

    select
        rec_categories.category_name as category,
        case
            when buyer_total.buyer_count > 0
                then cast(count(distinct rec_purchases.customer_id) as {{ double }}) / buyer_total.buyer_count
            else 0
        end as buyer_share

    from rec_categories
    cross join buyer_total
    left join rec_purchases
        on rec_purchases.category = rec_categories.category_name
    group by rec_categories.category_name, buyer_total.buyer_count

),

candidates as (

    select
        rec_customers.customer_id,
        rec_customers.cohort,
        rec_categories.category_name as category,
        rec_categories.sort_order,
        customer_categories.customer_id is not null as is_bought,
        customer_categories.last_purchase_at,
        customer_totals.customer_id is not null as has_history,
        popularity.buyer_share

    from rec_customers
    cross join rec_categories
    inner join popularity
        on popularity.category = rec_categories.category_name
    left join customer_categories
        on customer_categories.customer_id = rec_customers.customer_id
        and customer_categories.category = rec_categories.category_name
    left join customer_totals
        on customer_totals.customer_id = rec_customers.customer_id

),

{% if method in ('model', 'lightgbm') %}
affinity as (

    {{ c360.recs_category_affinity('rec_purchases', 'rec_categories') | indent(4) }}

),

contributions as (

    select
        customer_categories.customer_id,
        affinity.to_category as category,
        affinity.from_category,
        affinity.from_sort_order,
        affinity.raw_share,
        affinity.transition_count,
        customer_categories.history_weight * affinity.score
            / customer_totals.total_history_weight as contribution

    from customer_categories
    inner join customer_totals
        on customer_totals.customer_id = customer_categories.customer_id
    inner join affinity
        on affinity.from_category = customer_categories.category
        and not affinity.is_repeat

),

{% if method == 'model' -%}
method_scores as (

    select customer_id, category, sum(contribution) as score
    from contributions
    group by customer_id, category

),
{%- else -%}
method_scores as (

    select customer_id, category, score
    from {{ ref('stg_recs_model__lightgbm_scores') }}
    where scope = '{{ scope }}'

),
{%- endif %}

top_contributions as (

    select
        customer_id,
        category,
        from_category,
        raw_share,
        transition_count,
        row_number() over (
            partition by customer_id, category
            order by contribution desc, from_sort_order
        ) as contribution_rank

    from contributions

),

scored as (

    select
        candidates.*,
        case
            when not candidates.has_history then candidates.buyer_share
            else coalesce(method_scores.score, 0)
        end as score,
        case
            when not candidates.has_history
                then {{ dbt.concat(["'No purchases yet, so a popular choice: '",
                                    c360.recs_percent_text('candidates.buyer_share'),
                                    "'% of customers have bought '", 'candidates.category']) }}
            when top_contributions.transition_count > 0
                then {{ dbt.concat(["'Customers who bought '", 'top_contributions.from_category',
                                    "case when top_contributions.raw_share >= 0.25 then ' often buy ' else ' also buy ' end",
                                    'candidates.category',
                                    "' next ('", c360.recs_percent_text('top_contributions.raw_share'),
                                    "'% of their next purchases in another category)'"]) }}
            else {{ dbt.concat(["'Popular choice: '", c360.recs_percent_text('candidates.buyer_share'),
                                "'% of customers have bought '", 'candidates.category']) }}
        end as new_category_reason

    from candidates
    left join method_scores
        on method_scores.customer_id = candidates.customer_id
        and method_scores.category = candidates.category
    left join top_contributions
        on top_contributions.customer_id = candidates.customer_id
        and top_contributions.category = candidates.category
        and top_contributions.contribution_rank = 1

),
{% elif method == 'popularity' %}
scored as (

    select
        candidates.*,
        candidates.buyer_share as score,
        {{ dbt.concat(["'Popular choice: '", c360.recs_percent_text('candidates.buyer_share'),
                       "'% of customers have bought '", 'candidates.category']) }} as new_category_reason

    from candidates

),
{% else %}
cohort_sizes as (

    select rec_customers.cohort, count(distinct rec_purchases.customer_id) as buyer_count
    from rec_purchases
    inner join rec_customers
        on rec_customers.customer_id = rec_purchases.customer_id
    group by rec_customers.cohort

),

cohort_buyers as (

    select
        rec_customers.cohort,
        rec_purchases.category,
        count(distinct rec_purchases.customer_id) as buyer_count

    from rec_purchases
    inner join rec_customers
        on rec_customers.customer_id = rec_purchases.customer_id
    group by rec_customers.cohort, rec_purchases.category

),

scored as (

    select
        candidates.*,
        (coalesce(cohort_buyers.buyer_count, 0) + {{ cohort_prior }} * candidates.buyer_share)
            / (coalesce(cohort_sizes.buyer_count, 0) + {{ cohort_prior }}) as score,
        {{ dbt.concat(["'Popular with customers aged '", 'candidates.cohort', "': '",
                       c360.recs_percent_text('case when coalesce(cohort_sizes.buyer_count, 0) > 0 then cast(coalesce(cohort_buyers.buyer_count, 0) as '
                                               ~ double ~ ') / cohort_sizes.buyer_count else 0 end'),
                       "'% of them have bought '", 'candidates.category']) }} as new_category_reason

    from candidates
    left join cohort_sizes
        on cohort_sizes.cohort = candidates.cohort
    left join cohort_buyers
        on cohort_buyers.cohort = candidates.cohort
        and cohort_buyers.category = candidates.category

),
{% endif %}

ranked as (

    select
        scored.*,
        -- re-buy picks are a group of their own after every new category, not scored (0)
        case when scored.is_bought then 0 else scored.score end as list_score,
        -- scores rounded to 9 decimals (floor(x * 1e9 + 0.5): Postgres has no round(double, n)):
        -- sums of the same terms in another order (an incremental fact vs a full refresh,
        -- another engine) differ in the last bits and must not reorder; category is the full
        -- tie-break, so the ranking is deterministic
        row_number() over (
            partition by scored.customer_id
            order by
                case when scored.is_bought then 1 else 0 end,
                case when scored.is_bought then 0 else floor(scored.score * 1000000000 + 0.5) end desc,
                scored.last_purchase_at,
                scored.sort_order,
                scored.category
        ) as recommendation_rank

    from scored

),

listed as (

    select
        ranked.*,
        {{ dbt.datediff('ranked.last_purchase_at', 'as_of.as_of_at', 'day') }} as days_since_purchase

    from ranked
    cross join as_of
    where ranked.recommendation_rank <= {{ k }}

),

final as (

    select
        listed.customer_id,
        listed.recommendation_rank as rank,
        listed.category,
        listed.list_score as score,
        case
            when listed.is_bought and listed.days_since_purchase >= {{ not_recent_days }}
                then {{ dbt.concat(["'Not bought recently: last '", 'listed.category', "' purchase '",
                                    'cast(listed.days_since_purchase as ' ~ text ~ ')',
                                    "' days ago'"]) }}
            when listed.is_bought
                then {{ dbt.concat(["'Buy again (no other new category to suggest): last '", 'listed.category',
                                    "' purchase '", 'cast(listed.days_since_purchase as ' ~ text ~ ')',
                                    "' days ago'"]) }}
            else listed.new_category_reason
        end as reason,
        not listed.is_bought as is_new_category

    from listed

)

select * from final
{%- endmacro %}
