CREATE TABLE photos (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  content_type VARCHAR(64) NOT NULL,
  original_key VARCHAR(255) NOT NULL,
  thumb_key VARCHAR(255) NOT NULL DEFAULT '',
  width INT NOT NULL,
  height INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY photos_user (user_id, id),
  CONSTRAINT photos_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
