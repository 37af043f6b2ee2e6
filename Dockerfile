FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
# PyTorch's CPU index: from PyPI alone torch==2.13.0 is the CUDA build, gigabytes of GPU libraries this never uses
# (the model runs on the CPU). Its 2.13.0+cpu is the build the pin means.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY . .
# With the settings it runs with (DJANGO_DEBUG=false): they serve the hashed names of the manifest this writes. The
# secret key and the database are placeholders that collectstatic never uses (the database is never connected to).
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-at-build-time-only DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --no-input
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "convosensei.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
