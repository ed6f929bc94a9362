-- Sanity checks of a restored Sentry database, run by restore.sh with psql. Each query returns
-- the problems it finds, one per row; no rows means the database is what Sentry needs.
-- Variables: :'organization' (the bootstrapped organization's name), :'projects' (a JSON array
-- of the bootstrapped project names), :redact (1 when those were set as secrets: messages then
-- name the organization and projects by position, never by value). Tables and columns from getsentry/sentry's models:
-- Organization (sentry_organization: name, status), Project (sentry_project: name,
-- organization_id, status), ProjectKey (sentry_projectkey: project_id, status), Group
-- (sentry_groupedmessage); status 0 is ObjectStatus.ACTIVE / OrganizationStatus.ACTIVE.

SELECT 'table ' || name || ' is missing'
FROM unnest(ARRAY[
  'django_migrations', 'sentry_organization', 'sentry_project', 'sentry_projectkey', 'sentry_groupedmessage'
]) AS name
WHERE to_regclass('public.' || name) IS NULL;

SELECT 'no migrations recorded in django_migrations'
WHERE NOT EXISTS (SELECT 1 FROM django_migrations);

SELECT 'organization ' || CASE WHEN :redact = 1 THEN '(set as a secret)' ELSE '"' || :'organization' || '"' END
  || ' is missing'
WHERE :'organization' <> ''
  AND NOT EXISTS (SELECT 1 FROM sentry_organization WHERE name = :'organization' AND status = 0);

SELECT CASE WHEN :redact = 1 THEN 'project #' || place || ' of the configured list (set as a secret) is missing or has no key'
  ELSE 'project "' || wanted || '" of organization "' || :'organization' || '" is missing or has no key' END
FROM json_array_elements_text(:'projects'::json) WITH ORDINALITY AS listed (wanted, place)
WHERE NOT EXISTS (
  SELECT 1 FROM sentry_project AS p
  JOIN sentry_organization AS o ON o.id = p.organization_id
  JOIN sentry_projectkey AS k ON k.project_id = p.id AND k.status = 0
  WHERE o.name = :'organization' AND p.name = wanted AND p.status = 0
);
