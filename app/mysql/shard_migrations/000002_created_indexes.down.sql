ALTER TABLE photos DROP KEY photos_created;
ALTER TABLE posts DROP KEY posts_created;
