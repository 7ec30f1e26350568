"""The SQL adapter: tables, imperative mappings, engine, repositories, unit of work and migrations.

Composition root::

    engine = create_engine(settings.database_url)
    await migrate.upgrade(settings.database_url)  # when migrate_on_start
    uow_factory = SqlUnitOfWorkFactory(engine)  # also starts the mappers
"""
