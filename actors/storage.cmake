# The STORAGE actor over the backend library in storage/.
keepa_add_actor(storage
  SOURCES storage.cpp
  LIBS keepa_storage_backend)
