{#-
    The top-k lists of every method the recommender can serve, in one relation: recs_recommend
    run once per method on the same purchases. The production model (it keeps the served
    method's rows), the backtest (training purchases before the cutoff) and the validation
    (purchases before the validation cutoff) all call this, so every method is scored by the
    code that serves it.
    Arguments as recs_recommend. Output: method, customer_id, rank, category, score, reason,
    is_new_category.
-#}
{% macro recs_method_lists(purchases, customers, categories, as_of, k=3) -%}
    {{ return(adapter.dispatch('recs_method_lists', 'c360')(purchases, customers, categories, as_of, k)) }}
{%- endmacro %}

{% macro default__recs_method_lists(purchases, customers, categories, as_of, k) -%}
with

{% for method in c360.recs_methods() %}
{{ method }}_recommendations as (

    {{ c360.recs_recommend(
        purchases=purchases,
        customers=customers,
        categories=categories,
        as_of=as_of,
        method=method,
        k=k,
    ) | indent(4) }}

),

{% endfor %}
final as (

    {% for method in c360.recs_methods() -%}
    select '{{ method }}' as method, * from {{ method }}_recommendations  -- noqa: RF04
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
{%- endmacro %}
