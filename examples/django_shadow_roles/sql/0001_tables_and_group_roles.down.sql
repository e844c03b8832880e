DROP SCHEMA django CASCADE;
DROP ROLE django_users;
DROP ROLE django;
