"""Partner share: salt, dbt build of the share models, export."""
