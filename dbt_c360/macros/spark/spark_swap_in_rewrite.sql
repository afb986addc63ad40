{#-
    Replace the contents of the Parquet table `target` with the rows of `rewrite_sql`, crash-safe.

    `insert overwrite` in place deletes the old files before it writes the new ones, so a job
    killed in between loses the table. Instead the new rows go to a managed version table
    `<target>__v<run>` in a folder of their own; only when that write has finished does one
    metastore update (`alter table ... set location`) point `target` at the new folder. The
    version table is then pointed at the old folder and dropped, which deletes the old files
    (a managed table's drop deletes its location). A kill at any moment leaves `target` whole,
    with either its old rows (before the switch) or the new ones (after), never a partial or
    missing table; `spark_drop_leftover_versions` clears what the killed run left at the start
    of the next one. Unpartitioned tables only: partitions keep locations of their own.
    Used by the Parquet merge and snapshot materializations of this folder and by the pre/post
    hooks that delete rows (reloads, erasure). `purpose` names the caller: one run may rewrite a
    table twice (a hook's delete, then the merge), and each rewrite needs a version table of its
    own: the second `create table` would otherwise land in the folder that the first rewrite
    has just made the target's (the version id is 12 hex characters of md5(run, purpose)).
-#}
{% macro spark_swap_in_rewrite(target, rewrite_sql, dest_columns, purpose='rewrite') %}
    {%- if config.get('partition_by') -%}
        {% do exceptions.raise_compiler_error(
            target ~ ": the Parquet rewrite (macros/spark/) swaps whole tables and supports no partition_by") %}
    {%- endif -%}
    {%- set run = local_md5(invocation_id ~ '/' ~ purpose)[:12] -%}
    {%- set version = target.incorporate(path={'identifier': target.identifier ~ '__v' ~ run}, type='table') -%}
    {% do c360.spark_drop_leftover_versions(target) %}
    {% call statement('build_rewrite') %}
        create table {{ version }}
        using parquet
        as
        select {% for name in dest_columns %}`{{ name }}`{{ ', ' if not loop.last }}{% endfor %}
        from ({{ rewrite_sql }}) as rewritten
    {% endcall %}
    {%- set old_location = c360.spark_table_location(target) -%}
    {%- set new_location = c360.spark_table_location(version) -%}
    {% call statement('main') %}
        alter table {{ target }} set location '{{ new_location }}'
    {% endcall %}
    {% call statement('release_old_files') %}
        alter table {{ version }} set location '{{ old_location }}'
    {% endcall %}
    {% call statement('drop_old_files') %}drop table {{ version }}{% endcall %}
    {% call statement('refresh_target') %}refresh table {{ target }}{% endcall %}
{% endmacro %}
