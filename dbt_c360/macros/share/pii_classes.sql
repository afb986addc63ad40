{#-
    The allowed values of a column's `meta.pii` classification:
      direct        identifies a person on its own (name, email, username, address, birth date, ids)
      quasi         identifies in combination (gender, age, age band, state, postcode)
      pseudonymous  a salted key standing in for a direct identifier (share.partner_key)
      none          no personal data
-#}
{% macro pii_classes() %}
    {{- return(adapter.dispatch('pii_classes', 'c360')()) -}}
{% endmacro %}

{% macro default__pii_classes() %}
    {#- No engine differences: a fixed list. -#}
    {{- return(['direct', 'quasi', 'pseudonymous', 'none']) -}}
{% endmacro %}
