DROP INDEX posts_created ON posts;
