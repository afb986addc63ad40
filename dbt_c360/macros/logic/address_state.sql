{#-
    The Australian state or territory code of an address line (`..., <suburb>, <STATE>,
    <postcode>`, c360.address_pattern), upper case; null when the address does not end that way
    or the code is not one of ACT, NSW, NT, QLD, SA, TAS, VIC, WA. The one definition of
    `state` (marts.customers, marts.customer_versions). Engine differences live in
    c360.regex_extract, so this macro has no engine overrides.
-#}
{% macro address_state(address) -%}
    {{ return(adapter.dispatch('address_state', 'c360')(address)) }}
{%- endmacro %}

{% macro default__address_state(address) -%}
    {%- set code = c360.regex_extract(address, c360.address_pattern(), 1) -%}
    case
        when upper({{ code }}) in ('ACT', 'NSW', 'NT', 'QLD', 'SA', 'TAS', 'VIC', 'WA')
            then upper({{ code }})
    end
{%- endmacro %}
