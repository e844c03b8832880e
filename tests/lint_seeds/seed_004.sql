-- Seed 004 "Authorization (Row Level Security)", its SQL as written.
CREATE POLICY multi_tenancy_policy_select ON customers FOR SELECT TO application
USING (
    organisation_id IN (SELECT get_orgs_for_app_user())
);

CREATE TYPE role AS ENUM (
    'Administrator', 
    'Collaborator', 
    'SystemAdministrator'
);
COMMENT ON TYPE role IS 'Users have roles, they can be managers or administrators etc.';

CREATE TYPE permission AS ENUM (
    -- The ManageTeam permission gives the user thee ability to invite team members, 
    -- delete team members and chnage the team name
    'ManageTeam'
);
COMMENT ON TYPE permission IS 'A permission gives the user the ability to do something. i.e. Manage users.';

CREATE TABLE roles_permissions (
    role role NOT NULL,
    permission permission NOT NULL,

    PRIMARY KEY (role, permission)
);
COMMENT ON TABLE roles_permissions IS 'Maps roles to permissions. i.e. a role can have multiple permissions.';

CREATE POLICY rbac_select ON customers FOR SELECT TO application
USING (
    'SystemAdministrator' IN SELECT roles FROM users WHERE user_id = current_setting(
            'row_level_security.user_id',
            false
        )::integer 

);
