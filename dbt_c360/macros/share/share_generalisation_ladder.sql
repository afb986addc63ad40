{#-
    How a quasi-identifier is generalised step by step for k-anonymity.
    Returns {'rank': n, 'levels': [sql, ...]}: quasi-identifiers are generalised in rank order
    (lowest first), each through its levels in order; `__value__` stands for the column.
    A quasi-identifier without an entry here can only be generalised to '*'.
-#}
{% macro share_generalisation_ladder(column) %}
    {{- return(adapter.dispatch('share_generalisation_ladder', 'c360')(column)) -}}
{% endmacro %}

{% macro default__share_generalisation_ladder(column) %}
    {#- No engine differences: plain CASE expressions over text. -#}
    {%- set ladders = {
        'state': {'rank': 1, 'levels': [
            "case when __value__ in ('NSW', 'ACT', 'QLD') then 'NSW/ACT/QLD'"
            ~ " when __value__ in ('VIC', 'TAS', 'SA') then 'VIC/TAS/SA'"
            ~ " when __value__ in ('WA', 'NT') then 'WA/NT' else '*' end",
            "'*'",
        ]},
        'age_band': {'rank': 2, 'levels': [
            "case when __value__ in ('18-24', '25-34') then '18-34'"
            ~ " when __value__ in ('35-44', '45-54') then '35-54'"
            ~ " when __value__ in ('55-64', '65+') then '55+' else __value__ end",
            "'*'",
        ]},
        'gender': {'rank': 3, 'levels': ["'*'"]},
    } -%}
    {{- return(ladders.get(column, {'rank': 9, 'levels': ["'*'"]})) -}}
{% endmacro %}
