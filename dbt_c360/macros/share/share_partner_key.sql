{#-
    partner_key = lower-case hex SHA-256 of the UTF-8 text (salt || key).
    Stable across builds with the same salt; unlinkable across salts.
-#}
{% macro share_partner_key(column) %}
    {{- return(adapter.dispatch('share_partner_key', 'c360')(column)) -}}
{% endmacro %}

{% macro default__share_partner_key(column) %}
    {#- No engine differences: dbt.concat and sha256_hex already dispatch per engine. -#}
    {{- c360.sha256_hex(dbt.concat([c360.share_salt_sql(), 'cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')'])) -}}
{% endmacro %}
