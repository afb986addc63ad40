{#-
    Scores top-k lists against test events, per method and list length k. Every event customer
    counts (a customer without a list, or whose event is not in the top k, is a miss).
      hit_count                  event customers whose event category is in the method's top k
      ndcg_sum                   sum over event customers of 1 / log2(1 + rank of the event
                                 category) when that rank is at most k, else 0 (one relevant
                                 category per customer, so the ideal DCG is 1: NDCG@k = ndcg_sum / n)
      recommended_category_count distinct categories in the event customers' top k

    Arguments:
      lists  - relation with method, customer_id, rank, category
      events - relation with customer_id, category (one row per customer)
      ks     - list of list lengths
      methods - the methods scored (default recs_methods(); e.g. ['oracle'] for the ceiling)
    Output: method, k, hit_count, ndcg_sum, recommended_category_count (one row per method in
    `methods` and k, zeros when nothing matched).
-#}
{% macro recs_score_lists(lists, events, ks, methods=none) -%}
    {{ return(adapter.dispatch('recs_score_lists', 'c360')(lists, events, ks, methods)) }}
{%- endmacro %}

{% macro default__recs_score_lists(lists, events, ks, methods=none) -%}
{%- set double = c360.recs_double_type() -%}
with

score_methods as (

    {% for method in (methods if methods is not none else c360.recs_methods()) -%}
    select '{{ method }}' as method  -- noqa: RF04
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

score_list_lengths as (

    {% for k in ks -%}
    select {{ k | int }} as k
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

scored_lists as (

    select
        score_lists.method,
        score_list_lengths.k,
        score_lists.customer_id,
        score_lists.category,
        case
            when score_lists.category = score_events.category
                then 1.0 / (ln(cast(score_lists.rank + 1 as {{ double }})) / ln(cast(2 as {{ double }})))
            else 0
        end as gain,
        case when score_lists.category = score_events.category then 1 else 0 end as is_hit

    from {{ lists }} as score_lists
    inner join {{ events }} as score_events
        on score_lists.customer_id = score_events.customer_id
    inner join score_list_lengths
        on score_lists.rank <= score_list_lengths.k

),

aggregated as (

    select
        method,
        k,
        sum(is_hit) as hit_count,
        sum(gain) as ndcg_sum,
        count(distinct category) as recommended_category_count

    from scored_lists
    group by method, k

),

final as (

    select
        score_methods.method,
        score_list_lengths.k,
        coalesce(aggregated.hit_count, 0) as hit_count,
        coalesce(aggregated.ndcg_sum, 0) as ndcg_sum,
        coalesce(aggregated.recommended_category_count, 0) as recommended_category_count

    from score_methods
    cross join score_list_lengths
    left join aggregated
        on
            score_methods.method = aggregated.method
            and score_list_lengths.k = aggregated.k

)

select * from final
{%- endmacro %}
