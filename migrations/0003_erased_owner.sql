-- Closed stores outlive their owner's account: erasing an account hands the closed stores it
-- owned to this placeholder, so their history (and bookings) keep a valid owner_id while the
-- person's id is gone. Nobody can act as it: its email cannot be registered or used to log in
-- (the domain has no dot, which email parsing refuses), its password hash is not a hash, and
-- it has no sessions or memberships.
INSERT INTO users (id, email, password_hash, kind, display_name, created_at)
VALUES ('00000000-0000-0000-0000-000000000000', 'erased-owner@invalid', '!', 'registered',
        'Erased owner', '2026-01-01T00:00:00Z');
