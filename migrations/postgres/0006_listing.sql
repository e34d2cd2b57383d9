-- Listings walk services in id order while skipping some statuses (a feed leaves out
-- defunct ones): this index answers them, deep pages included, without the table.
CREATE INDEX services_by_id_status ON services (id, status);
