-- One row less written per booking change: no query reads the booking index by store (the
-- index is read by user, by end for pruning, and by booking id; a store's own bookings come
-- from its Durable Object), so `booking_index_by_store` only cost a write per index row.
DROP INDEX IF EXISTS booking_index_by_store;
