{#-
    Drop share tables that earlier versions released and this one no longer builds, so a
    warehouse upgraded in place keeps no per-key detail that the current policy forbids:
    `partner_category_spend` held each partner key's exact per-category amounts. Runs as a
    pre-hook of `partner_customers`; a no-op when the relations are absent. Uses dbt's own
    get_relation / drop_relation, which every adapter implements, so there is no engine override.
-#}
{% macro share_drop_retired_relations(identifiers=['partner_category_spend']) %}
    {{ return(adapter.dispatch('share_drop_retired_relations', 'c360')(identifiers)) }}
{% endmacro %}

{% macro default__share_drop_retired_relations(identifiers) %}
    {% if execute %}
        {% for identifier in identifiers %}
            {% set retired = adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier) %}
            {% if retired is not none %}
                {% do log('dropping retired share relation ' ~ retired, info=true) %}
                {% do adapter.drop_relation(retired) %}
            {% endif %}
        {% endfor %}
    {% endif %}
{% endmacro %}
