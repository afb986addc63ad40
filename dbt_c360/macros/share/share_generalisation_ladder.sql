{#-
    How a released column (an item of share_column_plan) is generalised step by step for
    k-anonymity. Returns {'rank': n, 'levels': [sql, ...]}; `__value__` stands for the column's
    current text. Every ladder ends in '*'. share_k_anonymity_ctes applies the intermediate
    levels of all columns first (in rank order, lowest first), then the '*' levels in rank order,
    so a column is only suppressed after every column has been coarsened once.
      state       -> region ('NSW/ACT/QLD', 'VIC/TAS/SA', 'WA/NT') -> '*'
      age_band    -> '18-34' / '35-54' / '55+' -> '*'
      `band`      -> bands of twice the width (every second edge) -> '*'
      `month`     -> year 'YYYY' -> '*'
      anything else (gender, RFM segment) -> '*'
-#}
{% macro share_generalisation_ladder(item) %}
    {{- return(adapter.dispatch('share_generalisation_ladder', 'c360')(item)) -}}
{% endmacro %}

{% macro default__share_generalisation_ladder(item) %}
    {#- No engine differences: plain CASE expressions and substr over text. -#}
    {%- set ranks = {
        'state': 1, 'acquisition_month': 2, 'last_purchase_month': 3, 'order_count_band': 5, 'total_spend_band': 6, 'age_band': 7, 'rfm_segment': 8, 'gender': 9,
    } -%}
    {%- set rank = ranks.get(item.name, 10) -%}
    {%- set levels = [] -%}
    {%- if item.name == 'state' -%}
        {%- do levels.append(
            "case when __value__ in ('NSW', 'ACT', 'QLD') then 'NSW/ACT/QLD'"
            ~ " when __value__ in ('VIC', 'TAS', 'SA') then 'VIC/TAS/SA'"
            ~ " when __value__ in ('WA', 'NT') then 'WA/NT' else '*' end") -%}
    {%- elif item.name == 'age_band' -%}
        {%- do levels.append(
            "case when __value__ in ('18-24', '25-34') then '18-34'"
            ~ " when __value__ in ('35-44', '45-54') then '35-54'"
            ~ " when __value__ in ('55-64', '65+') then '55+' else __value__ end") -%}
    {%- elif item.treatment == 'band' and item.bands | length > 1 -%}
        {%- set fine = c360.share_band_labels(item.bands) -%}
        {%- set coarse = c360.share_band_labels(item.bands[1::2]) -%}
        {%- set whens = [] -%}
        {%- for label in fine -%}
            {%- do whens.append("when '" ~ label ~ "' then '" ~ coarse[loop.index0 // 2] ~ "'") -%}
        {%- endfor -%}
        {%- do levels.append("case __value__ " ~ whens | join(' ') ~ " else __value__ end") -%}
    {%- elif item.treatment == 'month' -%}
        {%- do levels.append("case when __value__ in ('unknown', '*') then __value__ else substr(__value__, 1, 4) end") -%}
    {%- endif -%}
    {%- do levels.append("'*'") -%}
    {{- return({'rank': rank, 'levels': levels}) -}}
{% endmacro %}
