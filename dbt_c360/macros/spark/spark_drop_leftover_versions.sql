{#-
    Drop the version tables (`<target>__v<run>`, see spark_swap_in_rewrite) that a killed run left
    behind. One whose location is no longer the target's holds either an unfinished new version
    or, after the switch, the old files: dropping it (managed) deletes them. One that still shares
    the target's location (killed right after the switch) is first pointed at a path of its own
    that does not exist, so that its drop cannot delete the target's files.
-#}
{% macro spark_drop_leftover_versions(target) %}
    {%- set pattern = target.identifier ~ '__v[0-9a-f]{12}' -%}
    {%- set tables = run_query('show tables in ' ~ target.schema ~ " like '" ~ target.identifier ~ "__v*'") -%}
    {%- set target_location = c360.spark_table_location(target) -%}
    {%- for row in tables if modules.re.fullmatch(pattern, row['tableName']) and not row['isTemporary'] -%}
        {%- set leftover = target.incorporate(path={'identifier': row['tableName']}, type='table') -%}
        {%- if c360.spark_table_location(leftover) == target_location -%}
            {% call statement('detach_leftover_' ~ loop.index) %}
                alter table {{ leftover }} set location '{{ target_location }}__released_{{ row["tableName"] }}'
            {% endcall %}
        {%- endif -%}
        {% call statement('drop_leftover_' ~ loop.index) %}drop table {{ leftover }}{% endcall %}
    {%- endfor -%}
{% endmacro %}
