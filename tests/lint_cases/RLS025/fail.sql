-- RLS025: must report RLS025
CREATE ROLE web LOGIN PASSWORD 'hunter2';
