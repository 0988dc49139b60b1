# roam_embed_migrations(<target> <schema> <dir>)
#
# Compiles every <dir>/*.sql file into the target as a sorted, NUL-terminated
# table (roam_migrations[] / roam_migrations_count), so a daemon carries its
# own schema and needs no files at run time. The files are re-read whenever
# one of them changes.
function(roam_embed_migrations target dir)
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT sql_files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${sql_files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/RoamEmbed.cmake
    DEPENDS ${sql_files} ${PROJECT_SOURCE_DIR}/cmake/RoamEmbed.cmake
    COMMENT "Embedding migrations for ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()

# roam_add_daemon(<name> [NEEDS_MIGRATIONS])
#
# Builds roam-<name> from the calling folder's src/*.c, linked with the core,
# with the folder's migrations/*.sql embedded.
function(roam_add_daemon name)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.c)
  add_executable(roam-${name} ${srcs})
  target_include_directories(roam-${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(roam-${name} PRIVATE roam_core)
  roam_embed_migrations(roam-${name} ${CMAKE_CURRENT_SOURCE_DIR}/migrations)
  install(TARGETS roam-${name} RUNTIME DESTINATION bin)
endfunction()
