{#-
    The top-k lists of every method the recommender can serve, in one relation: recs_recommend
    run once per method on the same purchases. The production model (it keeps the served
    method's rows), the backtest (training purchases before the cutoff) and the validation
    (purchases before the validation cutoff) all call this, so every method is scored by the
    code that serves it.
    Arguments as recs_recommend, plus `methods`: the methods to run (default all of
    recs_methods(); next_best_category passes only the served one, recs_served_methods).
    Output: method, customer_id, rank, category, score, reason, is_new_category.
-#}
{% macro recs_method_lists(purchases, customers, categories, as_of, k=3, scope='production', methods=none) -%}
    {{ return(adapter.dispatch('recs_method_lists', 'c360')(purchases, customers, categories, as_of, k, scope, methods if methods is not none else c360.recs_methods())) }}
{%- endmacro %}

{% macro default__recs_method_lists(purchases, customers, categories, as_of, k, scope, methods) -%}
with

{% for method in methods %}
{{ method }}_recommendations as (

    {{ c360.recs_recommend(
        purchases=purchases,
        customers=customers,
        categories=categories,
        as_of=as_of,
        method=method,
        k=k,
        scope=scope,
    ) | indent(4) }}

),

{% endfor %}
final as (

    {% for method in methods -%}
    select '{{ method }}' as method, * from {{ method }}_recommendations  -- noqa: RF04
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
{%- endmacro %}
