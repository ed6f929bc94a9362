-- Sanity checks of a restored GlitchTip database, run by restore.sh with psql. Each query returns
-- the problems it finds, one per row; no rows means the database is what GlitchTip needs.
-- Variables: :'organization' (the bootstrapped organization's name), :'projects' (a JSON array
-- of the bootstrapped project names), :redact (1 when those were set as secrets: messages then
-- name the organization and projects by position, never by value). Tables and columns from GlitchTip 6's models: Organization
-- (organizations_ext), Project (projects, soft-deleted through is_deleted).

SELECT 'table ' || name || ' is missing'
FROM unnest(ARRAY[
  'django_migrations', 'users_user', 'organizations_ext_organization', 'projects_project',
  'projects_projectkey', 'issue_events_issue', 'issue_events_issueevent'
]) AS name
WHERE to_regclass('public.' || name) IS NULL;

SELECT 'no migrations recorded in django_migrations'
WHERE NOT EXISTS (SELECT 1 FROM django_migrations);

SELECT 'organization ' || CASE WHEN :redact = 1 THEN '(set as a secret)' ELSE '"' || :'organization' || '"' END
  || ' is missing'
WHERE :'organization' <> ''
  AND NOT EXISTS (SELECT 1 FROM organizations_ext_organization WHERE name = :'organization');

SELECT CASE WHEN :redact = 1 THEN 'project #' || place || ' of the configured list (set as a secret) is missing'
  ELSE 'project "' || wanted || '" of organization "' || :'organization' || '" is missing' END
FROM json_array_elements_text(:'projects'::json) WITH ORDINALITY AS listed (wanted, place)
WHERE NOT EXISTS (
  SELECT 1 FROM projects_project AS p
  JOIN organizations_ext_organization AS o ON o.id = p.organization_id
  WHERE o.name = :'organization' AND p.name = wanted AND NOT p.is_deleted
);
