
/
bad-utf8caf√"overlong ¿Ø and surrogate Ì†Ä

goodfine