DROP TABLE app.documents;
