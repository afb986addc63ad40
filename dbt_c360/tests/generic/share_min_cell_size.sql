{#- Fails for every row of an aggregate whose count column is below k (default var('k_anonymity', 5)). -#}
{% test share_min_cell_size(model, column_name, k=none) %}

{%- set k = (k if k is not none else var('k_anonymity', 5)) | int -%}

select *
from {{ model }}
where {{ column_name }} < {{ k }}

{% endtest %}
